# The boosted-tree evaluator (src/plan/trees.c) against XGBoost's own
# predictions (training through tools/cli/xgb_train.c), and its parser on
# hostile text.
df_add_test_exe(test_trees ${CMAKE_CURRENT_LIST_DIR}/test_trees.c
                ${PROJECT_SOURCE_DIR}/tools/cli/xgb_train.c)
target_include_directories(test_trees PRIVATE ${PROJECT_SOURCE_DIR}/tools/cli ${XGBOOST_INCLUDE})
target_link_libraries(test_trees PRIVATE ${XGBOOST_LIB})
add_test(NAME trees COMMAND test_trees)
add_test(NAME trees_hostile COMMAND test_trees --hostile)
