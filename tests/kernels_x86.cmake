# AVX2/FMA kernels against the reference on random shapes, and their benchmark.
df_add_test_exe(test_conv_avx2 ${CMAKE_CURRENT_LIST_DIR}/test_conv_avx2.c)
add_test(NAME conv_avx2 COMMAND test_conv_avx2)

# Not a test: times the fast conv kernels against the reference on real layer shapes.
df_add_test_exe(conv_bench ${PROJECT_SOURCE_DIR}/bench/conv_bench.c)

# AVX2 activations against the reference.
df_add_test_exe(test_eltwise_avx2 ${CMAKE_CURRENT_LIST_DIR}/test_eltwise_avx2.c)
add_test(NAME eltwise_avx2 COMMAND test_eltwise_avx2)

# AVX-512 conv kernels against the reference (skips on a CPU without AVX-512).
df_add_test_exe(test_conv_avx512 ${CMAKE_CURRENT_LIST_DIR}/test_conv_avx512.c)
add_test(NAME conv_avx512 COMMAND test_conv_avx512)

# AVX2 pooling against the reference.
df_add_test_exe(test_pool_avx2 ${CMAKE_CURRENT_LIST_DIR}/test_pool_avx2.c)
add_test(NAME pool_avx2 COMMAND test_pool_avx2)
