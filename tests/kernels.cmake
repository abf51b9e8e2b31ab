# Reference kernels against naive computations on random shapes.
df_add_test_exe(test_kernels_ref ${CMAKE_CURRENT_LIST_DIR}/test_kernels_ref.c)
add_test(NAME kernels_ref COMMAND test_kernels_ref)
