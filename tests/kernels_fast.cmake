# Fast movement, Gemm and global-pool kernels against the references on random
# shapes (the Gemm test skips on a CPU without AVX2/FMA), and their benchmark.
df_add_test_exe(test_movement_fast ${CMAKE_CURRENT_LIST_DIR}/test_movement_fast.c)
add_test(NAME movement_fast COMMAND test_movement_fast)

df_add_test_exe(test_gemm_fast ${CMAKE_CURRENT_LIST_DIR}/test_gemm_fast.c)
add_test(NAME gemm_fast COMMAND test_gemm_fast)

# Not a test: times the fast movement, Gemm and global-pool kernels against the
# references on the shapes of real models.
df_add_test_exe(movement_bench ${PROJECT_SOURCE_DIR}/bench/movement_bench.c)
