# The planner's commands end to end: calibrate (short budget, into the build
# tree, never the user's cache), plan with the learned model and --measure and
# --dot, tune, and the plan the default planner then takes from the cache;
# evaluate on a small model. And bad plans and options, refused cleanly.
# Uses df_cli_test from cli.cmake (included before this file: families are
# included in alphabetical order).
if(NOT COMMAND df_cli_test)
  return()
endif()
set(DF_CALIB ${CMAKE_BINARY_DIR}/test_calibration)
set(SQUEEZE ${DF_ZOO_DIR}/squeezenet1_1.onnx)
set(RESIDUAL ${CMAKE_BINARY_DIR}/pass_models/residual.onnx)

add_test(NAME planner_calibrate_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${DF_CALIB})
set_tests_properties(planner_calibrate_clean PROPERTIES FIXTURES_SETUP calib_clean)
df_cli_test(planner_calibrate EXIT 0 ARGS calibrate --budget 25 --cache-dir ${DF_CALIB}
            STDOUT "calibration saved in" STDERR "held-out networks: error of the analytic"
            REQUIRES calib_clean SETUP calibration)
set_tests_properties(planner_calibrate PROPERTIES TIMEOUT 300)
df_cli_test(planner_plan_learned EXIT 0
            ARGS plan ${SQUEEZE} -t 1 --planner learned --cache-dir ${DF_CALIB} --measure --runs 3
                 --dot plan.dot
            STDOUT "by the learned planner.*predicted [0-9.]+ us.*measured [0-9.]+ us"
            REQUIRES calibration zoo)
df_cli_test(planner_plan_json EXIT 0
            ARGS plan ${RESIDUAL} -t 2 --cache-dir ${DF_CALIB} --json
            STDOUT "\"planner\": \"learned\""
            JSON_KEYS planner plan predicted_us ops segments REQUIRES calibration pass_models)
df_cli_test(planner_tune EXIT 0
            ARGS tune ${SQUEEZE} -t 1 --budget 20 --runs 3 --cache-dir ${DF_CALIB}
            STDOUT "tuned plan +[0-9.]+ us.*cached" REQUIRES calibration zoo SETUP tuned)
set_tests_properties(planner_tune PROPERTIES TIMEOUT 300)
df_cli_test(planner_uses_tuned EXIT 0 ARGS plan ${SQUEEZE} -t 1 --cache-dir ${DF_CALIB}
            STDOUT "by the tuned planner" REQUIRES tuned)
df_cli_test(planner_evaluate EXIT 0
            ARGS evaluate ${RESIDUAL} -t 1 --cache-dir ${DF_CALIB} --runs 2 --rounds 1
            JSON_KEYS candidates errors tau plans noise_pct passes
            STDOUT "\"measurement\": [0-9-].*\"learned_plain\": {"
            REQUIRES calibration pass_models)
# no calibration: the heuristic, said once on stderr; learned refused
df_cli_test(planner_no_calibration EXIT 0 ARGS plan ${RESIDUAL} --cache-dir ${DF_CALIB}/none
            STDOUT "by the heuristic planner" STDERR "no calibration for this machine"
            REQUIRES pass_models)
df_cli_test(planner_learned_missing EXIT 1
            ARGS plan ${RESIDUAL} --planner learned --cache-dir ${DF_CALIB}/none
            STDERR "no cost model in .*run deepfirst calibrate" REQUIRES pass_models)
df_cli_test(planner_tune_uncalibrated EXIT 1 ARGS tune ${RESIDUAL} --cache-dir ${DF_CALIB}/none
            STDERR "run deepfirst calibrate first" REQUIRES pass_models)
df_cli_test(planner_bad_planner EXIT 2 ARGS plan ${RESIDUAL} --planner psychic
            STDERR "--planner must be")
df_cli_test(planner_bad_plan_text EXIT 1 ARGS run ${RESIDUAL} --plan 1-x/2
            STDERR "plan \"1-x/2\": expected FIRST-LAST/BAND" REQUIRES pass_models)
df_cli_test(planner_bad_plan_op EXIT 1 ARGS run ${RESIDUAL} --plan 0-900/2
            STDERR "plan: segment 0-900" REQUIRES pass_models)
df_cli_test(planner_calibrate_bad_budget EXIT 2 ARGS calibrate --budget 5
            STDERR "--budget")
