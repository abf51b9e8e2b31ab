# Random synthetic models of tools/cli/synth.c (the planner's calibration set):
# each loads and runs, layer by layer and depth first alike, and a seed always
# gives the same bytes. Built from the CLI's synth.c and the library.
df_add_test_exe(test_synth ${CMAKE_CURRENT_LIST_DIR}/test_synth.c
                ${PROJECT_SOURCE_DIR}/tools/cli/synth.c)
target_include_directories(test_synth PRIVATE ${PROJECT_SOURCE_DIR}/tools/cli
                           ${CMAKE_BINARY_DIR}/gen)
add_test(NAME synth COMMAND test_synth 200)
set_tests_properties(synth PROPERTIES TIMEOUT 300)
