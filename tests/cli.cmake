# The command-line tool: unit tests of tools/cli/npy.c, and the `deepfirst`
# binary run on Debian's ONNX node test models (package libonnx-testdata) to
# check its exit codes (0 ok, 1 error, 2 bad command line) and messages.
#
# This file has two roles. Included by tests/CMakeLists.txt, it registers the
# tests. Run as a script (cmake -P cli.cmake), it is the checker those tests
# call: ctest's PASS_REGULAR_EXPRESSION ignores the exit code and WILL_FAIL
# would pass a crash, so neither can tell "refused cleanly" from "crashed".
#
# Checker arguments:
#   -DCLI_ARGS=prog|arg|...     the command, '|'-separated
#   -DEXPECT_EXIT=N             the exit code required
#   -DEXPECT_STDOUT=regex       optional, stdout must match
#   -DEXPECT_STDERR=regex       optional, stderr must match
#   -DEXPECT_JSON_KEYS=a|b      optional, stdout must be one JSON object with these keys
#   -DJSON_FILE=path -DJSON_FILE_KEY=k   optional, a file that must be JSON with key k
if(CMAKE_SCRIPT_MODE_FILE)
  string(REPLACE "|" ";" command "${CLI_ARGS}")
  execute_process(COMMAND ${command} RESULT_VARIABLE code OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  message("command: ${command}\nexit: ${code}\n--- stdout\n${out}--- stderr\n${err}---")
  if(NOT "${code}" STREQUAL "${EXPECT_EXIT}")
    message(FATAL_ERROR "expected exit code ${EXPECT_EXIT}, got '${code}'")
  endif()
  if(DEFINED EXPECT_STDOUT AND NOT out MATCHES "${EXPECT_STDOUT}")
    message(FATAL_ERROR "stdout does not match: ${EXPECT_STDOUT}")
  endif()
  if(DEFINED EXPECT_STDERR AND NOT err MATCHES "${EXPECT_STDERR}")
    message(FATAL_ERROR "stderr does not match: ${EXPECT_STDERR}")
  endif()
  if(DEFINED EXPECT_JSON_KEYS)
    string(REPLACE "|" ";" keys "${EXPECT_JSON_KEYS}")
    foreach(key ${keys})
      string(JSON value ERROR_VARIABLE json_error GET "${out}" ${key})
      if(json_error)
        message(FATAL_ERROR "stdout JSON, key '${key}': ${json_error}")
      endif()
    endforeach()
  endif()
  if(DEFINED JSON_FILE)
    file(READ "${JSON_FILE}" text)
    string(JSON value ERROR_VARIABLE json_error GET "${text}" ${JSON_FILE_KEY})
    if(json_error)
      message(FATAL_ERROR "${JSON_FILE}, key '${JSON_FILE_KEY}': ${json_error}")
    endif()
  endif()
  return()
endif()

# ---- npy unit tests ---------------------------------------------------------

# Built from the CLI's npy.c alone (no library), so it runs even while the
# library does not link.
add_executable(test_npy ${CMAKE_CURRENT_LIST_DIR}/test_npy.c
                        ${PROJECT_SOURCE_DIR}/tools/cli/npy.c)
target_include_directories(test_npy PRIVATE ${PROJECT_SOURCE_DIR}/tools/cli)
set(DF_CLI_FILES ${CMAKE_CURRENT_BINARY_DIR}/cli_files)
file(MAKE_DIRECTORY ${DF_CLI_FILES})
add_test(NAME npy COMMAND test_npy WORKING_DIRECTORY ${DF_CLI_FILES})

# ---- the deepfirst binary -----------------------------------------------------

set(DF_NODE_MODELS /usr/share/libonnx-testdata/data/node)
set(RELU ${DF_NODE_MODELS}/test_relu/model.onnx)               # x 3x4x5 -> y
set(ADD ${DF_NODE_MODELS}/test_add/model.onnx)                 # x, y 3x4x5 -> sum
set(ADD_BCAST ${DF_NODE_MODELS}/test_add_bcast/model.onnx)     # x 3x4x5, y 5 -> sum
set(CONV ${DF_NODE_MODELS}/test_conv_with_strides_padding/model.onnx) # x, W both inputs

# df_cli_test(NAME EXIT code ARGS args... [STDOUT regex] [STDERR regex]
#             [JSON_KEYS k...] [JSON_FILE path KEY k] [SETUP fixture] [REQUIRES fixture...])
# runs `deepfirst ARGS` through the checker above.
function(df_cli_test name)
  cmake_parse_arguments(T "" "EXIT;STDOUT;STDERR;JSON_FILE;KEY;SETUP" "ARGS;JSON_KEYS;REQUIRES"
                        ${ARGN})
  string(REPLACE ";" "|" args "$<TARGET_FILE:deepfirst_cli>;${T_ARGS}")
  set(checks -DCLI_ARGS=${args} -DEXPECT_EXIT=${T_EXIT})
  if(DEFINED T_STDOUT)
    list(APPEND checks -DEXPECT_STDOUT=${T_STDOUT})
  endif()
  if(DEFINED T_STDERR)
    list(APPEND checks -DEXPECT_STDERR=${T_STDERR})
  endif()
  if(DEFINED T_JSON_KEYS)
    string(REPLACE ";" "|" keys "${T_JSON_KEYS}")
    list(APPEND checks -DEXPECT_JSON_KEYS=${keys})
  endif()
  if(DEFINED T_JSON_FILE)
    list(APPEND checks -DJSON_FILE=${T_JSON_FILE} -DJSON_FILE_KEY=${T_KEY})
  endif()
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} ${checks} -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
           WORKING_DIRECTORY ${DF_CLI_FILES})
  if(DEFINED T_SETUP)
    set_tests_properties(${name} PROPERTIES FIXTURES_SETUP ${T_SETUP})
  endif()
  if(DEFINED T_REQUIRES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${T_REQUIRES}")
  endif()
endfunction()

# The command line itself: no model needed.
df_cli_test(cli_no_command EXIT 2 STDERR "no command given")
df_cli_test(cli_unknown_command EXIT 2 ARGS frobnicate STDERR "unknown command 'frobnicate'")
df_cli_test(cli_help EXIT 0 ARGS --help STDOUT "usage: deepfirst COMMAND")
df_cli_test(cli_run_help EXIT 0 ARGS run --help STDOUT "usage: deepfirst run MODEL")
df_cli_test(cli_version EXIT 0 ARGS --version STDOUT "^deepfirst [0-9]+\\.[0-9]+\\.[0-9]+")
df_cli_test(cli_no_model EXIT 2 ARGS info STDERR "no model given")
df_cli_test(cli_missing_file EXIT 1 ARGS info ${DF_CLI_FILES}/no_such_model.onnx
            STDERR "^deepfirst: error: .*no_such_model\\.onnx")
df_cli_test(cli_not_onnx EXIT 1 ARGS info ${PROJECT_SOURCE_DIR}/CMakeLists.txt
            STDERR "^deepfirst: error: .*CMakeLists\\.txt")

if(NOT EXISTS ${RELU} OR NOT EXISTS ${ADD} OR NOT EXISTS ${ADD_BCAST} OR NOT EXISTS ${CONV})
  message(STATUS "cli tests: ${DF_NODE_MODELS} lacks the models (apt install libonnx-testdata); "
                 "skipping the tests that run models")
  return()
endif()

# Bad command lines: exit 2 and a hint, before anything runs.
df_cli_test(cli_bad_flag EXIT 2 ARGS run ${RELU} --frobnicate
            STDERR "unknown option '--frobnicate'.*Try 'deepfirst run --help'")
df_cli_test(cli_missing_value EXIT 2 ARGS bench ${RELU} -r STDERR "-r needs a value")
df_cli_test(cli_bad_number EXIT 2 ARGS bench ${RELU} --runs 12x
            STDERR "--runs expects an integer, got '12x'")
df_cli_test(cli_bad_threads EXIT 2 ARGS run ${RELU} -t -1
            STDERR "--threads must be between 0 and [0-9]+, got '-1'")
df_cli_test(cli_bad_schedule EXIT 2 ARGS run ${RELU} --schedule=sideways
            STDERR "--schedule must be layer, depth or auto")
df_cli_test(cli_two_models EXIT 2 ARGS info ${RELU} ${ADD} STDERR "one model at a time")

# Input files: test_npy writes a ramp with negative values of a given shape.
add_test(NAME cli_make_x345 COMMAND test_npy --write x345.npy 3 4 5
         WORKING_DIRECTORY ${DF_CLI_FILES})
add_test(NAME cli_make_x22 COMMAND test_npy --write x22.npy 2 2
         WORKING_DIRECTORY ${DF_CLI_FILES})
set_tests_properties(cli_make_x345 cli_make_x22 PROPERTIES FIXTURES_SETUP cli_npy)

# Running: the outputs are right, and the output of one model is a valid .npy.
df_cli_test(cli_run_relu_file EXIT 0 ARGS run ${RELU} -i x345.npy -o relu_x345.npy
            REQUIRES cli_npy SETUP cli_relu_out)
add_test(NAME cli_run_relu_values COMMAND test_npy --expect-relu x345.npy relu_x345.npy
         WORKING_DIRECTORY ${DF_CLI_FILES})
set_tests_properties(cli_run_relu_values PROPERTIES FIXTURES_REQUIRED "cli_npy;cli_relu_out")
df_cli_test(cli_run_relu_summary EXIT 0 ARGS run ${RELU} --seed 7
            STDOUT "output 0 'y': shape 3x4x5\n  min 0  max [0-9.e-]+  mean [0-9.e-]+\n  first .*argmax")
df_cli_test(cli_info_json EXIT 0 ARGS info ${ADD_BCAST} --json
            STDOUT "\"inputs\": \\[\\{\"name\": \"x\", \"shape\": \\[3, 4, 5\\]\\}, \\{\"name\": \"y\", \"shape\": \\[5\\]\\}\\]"
            JSON_KEYS model inputs outputs op_types params flops weight_bytes peak_bytes schedule)
df_cli_test(cli_bench_json EXIT 0 ARGS bench ${RELU} -r 3 -w 1 --json --ops --profile trace.json
            STDOUT "^\\{[^\n]*\\}\n$"
            JSON_KEYS median_ms min_ms p90_ms mean_ms runs threads schedule peak_bytes
                      weight_bytes rss_bytes flops gflops_per_s model ops
            JSON_FILE ${DF_CLI_FILES}/trace.json KEY traceEvents)
df_cli_test(cli_bench_text EXIT 0 ARGS bench ${RELU} -r 2 -w 0 --ops -t 1
            STDOUT "latency ms +median [0-9.]+ +min [0-9.]+ +p90 [0-9.]+.*name +op type +time ms")

# Bad inputs: exit 1 and a message naming the input and both shapes.
df_cli_test(cli_too_few_inputs EXIT 1 ARGS run ${ADD} -i x345.npy REQUIRES cli_npy
            STDERR "the model has 2 inputs but 1 -i was given")
df_cli_test(cli_too_many_inputs EXIT 1 ARGS run ${RELU} -i x345.npy -i x345.npy
            REQUIRES cli_npy STDERR "the model has 1 input but 2 -i were given")
df_cli_test(cli_wrong_shape EXIT 1 ARGS run ${RELU} -i x22.npy REQUIRES cli_npy
            STDERR "input 0 'x': expected shape 3x4x5, got 2x2 from x22.npy")
df_cli_test(cli_output_as_wrong_input EXIT 1
            ARGS run ${ADD_BCAST} -i relu_x345.npy -i relu_x345.npy
            REQUIRES cli_npy cli_relu_out
            STDERR "input 1 'y': expected shape 5, got 3x4x5 from relu_x345.npy")
df_cli_test(cli_input_not_npy EXIT 1 ARGS run ${RELU} -i ${PROJECT_SOURCE_DIR}/CMakeLists.txt
            STDERR "CMakeLists\\.txt: not an \\.npy file")
df_cli_test(cli_too_many_outputs EXIT 1 ARGS run ${RELU} -o a.npy -o b.npy
            STDERR "2 -o given but the model has only 1 output")
# Conv's weights W are a graph input here: either the library refuses the model
# (it wants constant weights) or it loads and the CLI counts the -i. Both must
# be a clean exit 1 with a message.
df_cli_test(cli_conv_one_input EXIT 1 ARGS run ${CONV} -i x345.npy REQUIRES cli_npy
            STDERR "^deepfirst: error: .*(2 inputs but 1 -i was given|'W')")
