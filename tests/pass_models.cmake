# Small exported models that keep what PyTorch's exporter usually folds away
# (standalone BatchNormalization, shape arithmetic, Identity), run through the
# whole pipeline by test_zoo against PyTorch's outputs.
add_test(NAME pass_models_export
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/make_pass_models.py
                 ${CMAKE_BINARY_DIR}/pass_models)
set_tests_properties(pass_models_export PROPERTIES FIXTURES_SETUP pass_models TIMEOUT 300)
add_test(NAME pass_models_1t COMMAND test_zoo -t 1 ${CMAKE_BINARY_DIR}/pass_models)
add_test(NAME pass_models_2t COMMAND test_zoo -t 2 ${CMAKE_BINARY_DIR}/pass_models)
set_tests_properties(pass_models_1t pass_models_2t PROPERTIES FIXTURES_REQUIRED pass_models
                     TIMEOUT 300)
