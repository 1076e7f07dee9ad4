# libpmuprof: the harness API (include/pmuprof/pmuprof.h) as an installable
# library, shared (SONAME libpmuprof.so.0) and static, made of the objects of
# harness/, pmu/, channel/ and base/ (compiled with hidden visibility, so only
# the PMUPROF_API calls are exported); its pkg-config file and CMake package
# (pmuprof::pmuprof, pmuprof::pmuprof_static); and bench/harness_cost.
# Included by harness/CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PMUPROF_LIB_OBJECTS $<TARGET_OBJECTS:pmuprof_harness_objects> $<TARGET_OBJECTS:pmuprof_pmu_objects>
    $<TARGET_OBJECTS:pmuprof_channel_objects> $<TARGET_OBJECTS:pmuprof_base_objects>)

# Target names differ from the CLI's `pmuprof`; the files are libpmuprof.{so,a}.
add_library(libpmuprof SHARED ${PMUPROF_LIB_OBJECTS})
add_library(libpmuprof_static STATIC ${PMUPROF_LIB_OBJECTS})
set_target_properties(libpmuprof PROPERTIES OUTPUT_NAME pmuprof EXPORT_NAME pmuprof
                      VERSION ${PROJECT_VERSION} SOVERSION 0)
set_target_properties(libpmuprof_static PROPERTIES OUTPUT_NAME pmuprof EXPORT_NAME pmuprof_static)
foreach(lib libpmuprof libpmuprof_static)
  target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endforeach()
target_link_libraries(libpmuprof PRIVATE pfm::pfm Threads::Threads)
# Static users link libpfm themselves: by name once installed.
target_link_libraries(libpmuprof_static PUBLIC $<BUILD_INTERFACE:pfm::pfm> $<INSTALL_INTERFACE:pfm>
                      Threads::Threads)
if(NOT PMUPROF_SANITIZE)
  # Catch an unresolved symbol here rather than in a user's link (the sanitizer
  # runtimes live in the executable, so not with them).
  target_link_options(libpmuprof PRIVATE -Wl,--no-undefined)
endif()
add_library(pmuprof::pmuprof ALIAS libpmuprof)
add_library(pmuprof::pmuprof_static ALIAS libpmuprof_static)

install(TARGETS libpmuprof libpmuprof_static EXPORT pmuprofTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/pmuprof/pmuprof.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pmuprof)

# pkg-config: relative to ${pcfiledir}, so `cmake --install --prefix X` needs no reconfigure.
set(PMUPROF_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(PMUPROF_PC_TO_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(PMUPROF_PC_PREFIX_ABS "")
else()
  file(RELATIVE_PATH PMUPROF_PC_TO_PREFIX /${PMUPROF_PC_DIR} /)
  string(REGEX REPLACE "/$" "" PMUPROF_PC_TO_PREFIX "${PMUPROF_PC_TO_PREFIX}")
endif()
foreach(kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(PMUPROF_PC_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(PMUPROF_PC_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/pmuprof.pc.in ${CMAKE_CURRENT_BINARY_DIR}/pmuprof.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/pmuprof.pc DESTINATION ${PMUPROF_PC_DIR})

# CMake package: find_package(pmuprof) -> pmuprof::pmuprof (shared), pmuprof::pmuprof_static.
set(PMUPROF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pmuprof)
install(EXPORT pmuprofTargets NAMESPACE pmuprof:: DESTINATION ${PMUPROF_CMAKE_DIR})
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfig.cmake.in
     "@PACKAGE_INIT@\n"
     "include(CMakeFindDependencyMacro)\n"
     "find_dependency(Threads)\n"
     "include(\"\${CMAKE_CURRENT_LIST_DIR}/pmuprofTargets.cmake\")\n"
     "check_required_components(pmuprof)\n")
configure_package_config_file(${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfig.cmake
                              INSTALL_DESTINATION ${PMUPROF_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfig.cmake
        ${CMAKE_CURRENT_BINARY_DIR}/pmuprofConfigVersion.cmake DESTINATION ${PMUPROF_CMAKE_DIR})

# bench/harness_cost: the cost of a read and of a region pair per read path
# (results in bench/RESULTS.md). Fixed -O2 like the other bench programs.
add_executable(harness_cost ${PROJECT_SOURCE_DIR}/bench/harness_cost.c)
target_link_libraries(harness_cost PRIVATE libpmuprof)
target_compile_options(harness_cost PRIVATE -O2)
set_target_properties(harness_cost PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
