# Shape inference and constant folding on small graphs built with the graph.h API.
df_add_test_exe(test_shape ${CMAKE_CURRENT_LIST_DIR}/test_shape.c)
add_test(NAME shape COMMAND test_shape)
