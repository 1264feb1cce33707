# Embeds the status page's files (src/labd/ui) as C arrays, each with its content type and an
# ETag (the first 16 hex digits of its SHA-256):
#   cmake -DOUT=<file.c> -DDIR=<src/labd/ui> -DFILES=index.html,app.js,app.css -P embed.cmake
string(REPLACE "," ";" files "${FILES}")
set(arrays "")
set(table "")
set(i 0)
foreach(name IN LISTS files)
  set(path "${DIR}/${name}")
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.png$")
    set(type "image/png")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "embed.cmake: no content type known for ${name}")
  endif()
  if(NOT name MATCHES "^[A-Za-z0-9._-]+$" OR name MATCHES "^\\.")
    message(FATAL_ERROR "embed.cmake: ${name} is not a plain file name")
  endif()
  file(SIZE "${path}" size)
  file(SHA256 "${path}" sha)
  string(SUBSTRING "${sha}" 0 16 etag)
  file(READ "${path}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "static const unsigned char ui_asset_${i}[] = {${bytes}0x00};\n")
  string(APPEND table "\t{ \"${name}\", \"${type}\", ui_asset_${i}, ${size}, \"\\\"${etag}\\\"\" },\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "/* Generated from the files in src/labd/ui by embed.cmake: do not edit. */
#include \"ui/ui_assets.h\"

${arrays}
const struct ui_asset ui_assets[] = {
${table}};
const size_t ui_assets_n = ${i};
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
