# Depth-first execution: every model must match PyTorch run depth first, with
# the planner's segments and bands, with fixed bands from one row to taller
# than the image, and under random segment cuts and band heights drawn from a
# fixed list of seeds (a property test), with 1 and 2 threads.
foreach(t 1 2)
  add_test(NAME depth_zoo_t${t} COMMAND test_zoo -t ${t} --schedule depth ${DF_ZOO_DIR})
  set_tests_properties(depth_zoo_t${t} PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 1800 LABELS "zoo")
  foreach(band 1 3 1000)
    add_test(NAME depth_pass_models_t${t}_band${band}
             COMMAND test_zoo -t ${t} --schedule depth --band ${band} ${CMAKE_BINARY_DIR}/pass_models)
    set_tests_properties(depth_pass_models_t${t}_band${band} PROPERTIES
                         FIXTURES_REQUIRED pass_models TIMEOUT 300)
  endforeach()
  foreach(seed 1 2 3 4 5 6 7 8)
    add_test(NAME depth_random_plan_t${t}_seed${seed}
             COMMAND test_zoo -t ${t} --schedule depth --plan-seed ${seed} ${CMAKE_BINARY_DIR}/pass_models)
    set_tests_properties(depth_random_plan_t${t}_seed${seed} PROPERTIES
                         FIXTURES_REQUIRED pass_models TIMEOUT 300)
  endforeach()
  foreach(seed 11 12)
    add_test(NAME depth_random_plan_zoo_t${t}_seed${seed}
             COMMAND test_zoo -t ${t} --schedule depth --plan-seed ${seed} ${DF_ZOO_DIR}
                     mobilenet_v2 shufflenet_v2_x1_0 squeezenet1_1 efficientnet_b0)
    set_tests_properties(depth_random_plan_zoo_t${t}_seed${seed} PROPERTIES
                         FIXTURES_REQUIRED zoo TIMEOUT 1800 LABELS "zoo")
  endforeach()
endforeach()

# Three threads: shares of three in the shared segments of small images (the
# channel blocks, or rows, of each step split three ways) and three strips.
add_test(NAME depth_zoo_t3 COMMAND test_zoo -t 3 --schedule depth ${DF_ZOO_DIR}
         resnet18 mobilenet_v2 efficientnet_b0)
set_tests_properties(depth_zoo_t3 PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 1800 LABELS "zoo")

# Plans chosen by dynamic programming over the analytic cost model (nominal
# machine rates, no calibration needed): other cuts and bands than the
# heuristic's, checked against PyTorch like every other plan.
foreach(t 1 2)
  add_test(NAME planner_analytic_zoo_t${t}
           COMMAND test_zoo -t ${t} --planner analytic ${DF_ZOO_DIR})
  set_tests_properties(planner_analytic_zoo_t${t} PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 1800
                       LABELS "zoo")
endforeach()
