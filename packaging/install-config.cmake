# Run by `cmake --install` and CPack: the systemd unit and the default config, placed by the
# install-time prefix (GNU convention: prefix /usr puts the configuration in /etc).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(lethe_etc /etc/lethe)
else()
  set(lethe_etc "${CMAKE_INSTALL_PREFIX}/etc/lethe")
endif()
set(LETHE_BIN "${CMAKE_INSTALL_PREFIX}/bin/${LETHE_BINARY_NAME}")
configure_file("${LETHE_PACKAGING_SOURCE_DIR}/lethe.service.in"
               "${LETHE_PACKAGING_BINARY_DIR}/lethe.service" @ONLY)
file(INSTALL "${LETHE_PACKAGING_BINARY_DIR}/lethe.service"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" FILE_PERMISSIONS OWNER_READ
     OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${LETHE_PACKAGING_SOURCE_DIR}/lethe.yaml" DESTINATION "${lethe_etc}"
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
