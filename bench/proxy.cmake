# Bench targets (included from bench/CMakeLists.txt): the load generator. The fake upstream
# program (fake-gemini) is built from tests/fake_gemini.
add_executable(gm-loadgen ${CMAKE_CURRENT_LIST_DIR}/loadgen.cpp)
target_compile_options(gm-loadgen PRIVATE ${GM_WARNINGS} -Wshadow)
# Sets a custom EEVDF slice on given threads (bench/run.sh METER_B_SLICE_US).
add_executable(gm-set-slice ${CMAKE_CURRENT_LIST_DIR}/set_slice.cpp)
target_compile_options(gm-set-slice PRIVATE ${GM_WARNINGS})
target_link_libraries(gm-set-slice PRIVATE gm_proxy)
