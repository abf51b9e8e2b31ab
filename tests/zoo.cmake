# End-to-end tests: ONNX's node tests (conformance) and real networks against
# PyTorch (zoo). See the comments at the top of test_conformance.c and test_zoo.c.

df_add_test_exe(test_conformance test_conformance.c)
# the CLI's .npy reader, which does not need the library
df_add_test_exe(test_zoo test_zoo.c ${PROJECT_SOURCE_DIR}/tools/cli/npy.c)
target_include_directories(test_zoo PRIVATE ${PROJECT_SOURCE_DIR}/tools/cli)

# ONNX's backend node tests, shipped by Debian's libonnx-testdata.
set(DF_ONNX_NODE_TESTS "/usr/share/libonnx-testdata/data/node"
    CACHE PATH "ONNX backend node tests (libonnx-testdata)")
if(EXISTS ${DF_ONNX_NODE_TESTS})
  add_test(NAME conformance COMMAND test_conformance -t 1 ${DF_ONNX_NODE_TESTS})
  set_tests_properties(conformance PROPERTIES TIMEOUT 600 LABELS "conformance")
else()
  message(STATUS "ONNX node tests not found at ${DF_ONNX_NODE_TESTS}: "
                 "install libonnx-testdata for the conformance test")
endif()

# The zoo: nine torchvision CNNs exported with random (but BN-calibrated) weights.
# The fixture exports them into the build tree once; files that exist are kept.
set(DF_PYTHON /usr/bin/python3)
add_test(NAME zoo_export
         COMMAND ${DF_PYTHON} ${PROJECT_SOURCE_DIR}/tools/export_zoo.py --out ${DF_ZOO_DIR})
set_tests_properties(zoo_export PROPERTIES FIXTURES_SETUP zoo TIMEOUT 1800 LABELS "zoo")

add_test(NAME zoo_t1 COMMAND test_zoo -t 1 ${DF_ZOO_DIR})
add_test(NAME zoo_t2 COMMAND test_zoo -t 2 ${DF_ZOO_DIR})
set_tests_properties(zoo_t1 zoo_t2 PROPERTIES FIXTURES_REQUIRED zoo TIMEOUT 1800 LABELS "zoo")
