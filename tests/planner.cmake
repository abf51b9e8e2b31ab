# The planner: plan text, explicit plans, and the dynamic program's optimality
# over its candidates (against random plans and, where small, enumeration).
df_add_test_exe(test_planner test_planner.c)
add_test(NAME planner_pass_models
         COMMAND test_planner ${CMAKE_BINARY_DIR}/pass_models/residual.onnx
                 ${CMAKE_BINARY_DIR}/pass_models/dense_concat_bn.onnx
                 ${CMAKE_BINARY_DIR}/pass_models/pools.onnx
                 ${CMAKE_BINARY_DIR}/pass_models/squeeze_excite.onnx)
set_tests_properties(planner_pass_models PROPERTIES FIXTURES_REQUIRED pass_models TIMEOUT 300)
add_test(NAME planner_zoo COMMAND test_planner ${DF_ZOO_DIR}/squeezenet1_1.onnx
                                  ${DF_ZOO_DIR}/mobilenet_v2.onnx)
set_tests_properties(planner_zoo PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 600 LABELS "zoo")
