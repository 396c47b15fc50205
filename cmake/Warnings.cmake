# Warning set for the project's own C code (STYLE.md habit 7).
function(wh_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wshadow -Wconversion -Wvla -Wstrict-prototypes
    -Wmissing-prototypes -Wformat=2 -Wundef)
  if(WH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
