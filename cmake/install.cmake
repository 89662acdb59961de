# Installs the library as a CMake package: find_package(holdfast CONFIG REQUIRED) then
# target_link_libraries(app PRIVATE holdfast::holdfast).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS holdfast holdfast_admin holdfast_profile holdfast_schema holdfast_datastore holdfast_backend
                holdfast_base
        EXPORT holdfastTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/holdfast DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(HOLDFAST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/holdfast)
install(EXPORT holdfastTargets NAMESPACE holdfast:: DESTINATION ${HOLDFAST_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/holdfastConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/holdfastConfig.cmake
                              INSTALL_DESTINATION ${HOLDFAST_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/holdfastConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/holdfastConfig.cmake
              ${PROJECT_BINARY_DIR}/holdfastConfigVersion.cmake
        DESTINATION ${HOLDFAST_CMAKE_DIR})
