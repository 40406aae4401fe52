# embed_bytes.cmake -- td_embed_bytes(FILE BYTES SIZE): what embed_doc.cmake (the OpenAPI
# document) and assets/embed.cmake (the web page) both need, written once: FILE's bytes as the
# body of a C `unsigned char` initialiser ("0x2f,0x2a,...", sixteen to a line; unsigned because
# bytes >= 0x80 would not fit a signed char without a conversion warning) into BYTES, and their
# count into SIZE. The callers append the 0x00 that lets a body be used as a C string.
function(td_embed_bytes file out_bytes out_size)
  file(READ "${file}" hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPEAT "0x[0-9a-f][0-9a-f]," 16 sixteen) # CMake regexes have no {n}
  string(REGEX REPLACE "(${sixteen})" "\\1\n    " bytes "${bytes}")
  set(${out_bytes} "${bytes}" PARENT_SCOPE)
  set(${out_size} ${size} PARENT_SCOPE)
endfunction()
