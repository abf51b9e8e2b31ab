# The machine fingerprint of `deepfirst calibrate` (tools/cli/fingerprint.c):
# sane, ordered numbers within about its time budget.
df_add_test_exe(test_fingerprint ${CMAKE_CURRENT_LIST_DIR}/test_fingerprint.c
                ${PROJECT_SOURCE_DIR}/tools/cli/fingerprint.c)
target_include_directories(test_fingerprint PRIVATE ${PROJECT_SOURCE_DIR}/tools/cli
                           ${PTHREADPOOL_INCLUDE})
add_test(NAME fingerprint COMMAND test_fingerprint)
set_tests_properties(fingerprint PROPERTIES TIMEOUT 120)
