# The ONNX loader: models built in memory, hostile and damaged files, Debian's
# ONNX node test models, and replays of inputs the fuzzer once crashed on.
df_add_test_exe(test_loader ${CMAKE_CURRENT_SOURCE_DIR}/test_loader.c)
add_dependencies(test_loader df_onnx_proto) # it includes the generated onnx.pb-c.h
target_compile_definitions(test_loader PRIVATE
  DF_FUZZ_REGRESSIONS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz_regressions")
add_test(NAME loader COMMAND test_loader)

# cmake -DDF_FUZZ=ON -DDF_SANITIZE=ON -DCMAKE_C_COMPILER=clang, then
# `ctest -R fuzz_loader` fuzzes for 30 s (FUZZ_SECONDS=... to change).
if(DF_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DF_FUZZ needs clang (libFuzzer); configure with CMAKE_C_COMPILER=clang")
  endif()
  add_executable(fuzz_loader ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_loader.c)
  target_include_directories(fuzz_loader PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(fuzz_loader PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_loader PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_loader PRIVATE deepfirst)
  # Coverage feedback from the library code the fuzzer drives; without it
  # libFuzzer only sees the target file and mutates blindly.
  target_compile_options(deepfirst PRIVATE -fsanitize=fuzzer-no-link)
  set(FUZZ_SECONDS 30 CACHE STRING "How long the fuzz_loader test fuzzes")
  add_test(NAME fuzz_loader
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_loader.sh $<TARGET_FILE:fuzz_loader>
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz_loader_corpus
                   ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_regressions ${FUZZ_SECONDS}
                   ${CMAKE_BINARY_DIR}/pass_models)
  set_tests_properties(fuzz_loader PROPERTIES TIMEOUT 600 FIXTURES_REQUIRED pass_models)
endif()
