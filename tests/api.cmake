# The public API under concurrency: two sessions of one model in two threads.
df_add_test_exe(test_concurrent test_concurrent.c)
add_test(NAME concurrent_pass_model COMMAND test_concurrent ${CMAKE_BINARY_DIR}/pass_models/residual.onnx 20)
set_tests_properties(concurrent_pass_model PROPERTIES FIXTURES_REQUIRED pass_models TIMEOUT 300)
add_test(NAME concurrent_zoo COMMAND test_concurrent ${DF_ZOO_DIR}/squeezenet1_1.onnx 3)
set_tests_properties(concurrent_zoo PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 600)
