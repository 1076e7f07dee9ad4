# pmuprof_module(NAME [DEPS target...] [PRIVATE target...]): the folder's *.c as the
# static library pmuprof_NAME, its folder the include path its users get. DEPS are
# the modules (and packages) its public header builds on; a module lists only
# modules added before it, so the data flows one way (docs/architecture.md).
# Objects are compiled with hidden visibility: libpmuprof.so (harness/) is built
# from the same objects and exports only its PMUPROF_API calls.
function(pmuprof_module name)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  add_library(pmuprof_${name}_objects OBJECT ${srcs})
  target_include_directories(pmuprof_${name}_objects PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(pmuprof_${name}_objects PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE})
  set_target_properties(pmuprof_${name}_objects PROPERTIES POSITION_INDEPENDENT_CODE ON
                        C_VISIBILITY_PRESET hidden)
  add_library(pmuprof_${name} STATIC $<TARGET_OBJECTS:pmuprof_${name}_objects>)
  target_include_directories(pmuprof_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(pmuprof_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE})
  set_target_properties(pmuprof_${name} PROPERTIES LINKER_LANGUAGE C)
endfunction()
