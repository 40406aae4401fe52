# assets.cmake -- embeds the web page (this directory) into the tdserver library.
#
# Included from server/CMakeLists.txt. At build time embed.cmake (run with `cmake -P`) writes
# srv_assets_data.c into the build directory: every asset as a byte array plus
# srv_asset_lookup() (declared in server/srv_assets.h). The command depends on every file of this
# directory (globbed with CONFIGURE_DEPENDS, so a new asset is picked up too), so editing the page
# and rebuilding is enough: nothing is read from disk when the service runs.
file(GLOB TD_ASSET_INPUTS CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_LIST_DIR}/*.html ${CMAKE_CURRENT_LIST_DIR}/*.js
     ${CMAKE_CURRENT_LIST_DIR}/*.css ${CMAKE_CURRENT_LIST_DIR}/*.svg)
set(TD_ASSET_SOURCE ${CMAKE_CURRENT_BINARY_DIR}/srv_assets_data.c)
add_custom_command(
  OUTPUT ${TD_ASSET_SOURCE}
  COMMAND ${CMAKE_COMMAND} -DTD_ASSET_DIR=${CMAKE_CURRENT_LIST_DIR}
          -DTD_ASSET_OUT=${TD_ASSET_SOURCE} -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${TD_ASSET_INPUTS} ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
          ${CMAKE_CURRENT_LIST_DIR}/../embed_bytes.cmake
  COMMENT "Embedding the web page (server/assets) into tdserver"
  VERBATIM)
target_sources(tdserver PRIVATE ${TD_ASSET_SOURCE})
