include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS headtrack EXPORT headtrackTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/headtrack DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT headtrackTargets NAMESPACE headtrack::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/headtrack)
configure_package_config_file(cmake/headtrackConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/headtrackConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/headtrack)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/headtrackConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/headtrackConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/headtrackConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/headtrack)
if(TARGET headtrack_cli)
  install(TARGETS headtrack_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
