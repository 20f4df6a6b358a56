# Embeds every file of a folder into a generated C++ source as a table of
# {relative path, contents}. Migrations and templates travel inside the binary
# so the service runs from any working directory with nothing beside it.
function(authsvc_embed_dir dir ext name)
  file(GLOB_RECURSE files CONFIGURE_DEPENDS ${dir}/*)
  set(out ${CMAKE_BINARY_DIR}/embedded/${name}.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DEXT=${ext} -DNAME=${name} -DOUT=${out}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${files} ${CMAKE_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "embedding ${dir}")
endfunction()
