# Storage benchmarks (included from bench/CMakeLists.txt): not tests, programs to run by hand
# or from bench/run.sh.
#   storage_fill  --db PATH --rows N : writer throughput filling a realistic database
#   storage_bench --db PATH          : read-side latency vs. the same question as a raw GROUP BY
add_executable(storage_fill ${CMAKE_CURRENT_LIST_DIR}/storage_fill.cpp)
target_link_libraries(storage_fill PRIVATE gm_storage)
target_compile_options(storage_fill PRIVATE ${GM_WARNINGS})
add_executable(storage_bench ${CMAKE_CURRENT_LIST_DIR}/storage_bench.cpp)
target_link_libraries(storage_bench PRIVATE gm_storage)
target_compile_options(storage_bench PRIVATE ${GM_WARNINGS})
#   storage_submit_bench             : CPU per submit() on the calling thread, and its parts
add_executable(storage_submit_bench ${CMAKE_CURRENT_LIST_DIR}/storage_submit_bench.cpp)
target_link_libraries(storage_submit_bench PRIVATE gm_storage)
target_compile_options(storage_submit_bench PRIVATE ${GM_WARNINGS})
#   writer_ceiling                   : the writer against SQLite's own ceiling for the same rows
add_executable(writer_ceiling ${CMAKE_CURRENT_LIST_DIR}/writer_ceiling.cpp)
target_link_libraries(writer_ceiling PRIVATE gm_storage)
target_compile_options(writer_ceiling PRIVATE ${GM_WARNINGS})
