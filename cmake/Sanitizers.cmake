# WH_SANITIZE applies to every target of the build, so that the library, the
# tests and the fuzz replays are all instrumented the same way.
if(WH_SANITIZE)
  set(_wh_san_flags -fsanitize=${WH_SANITIZE} -fno-omit-frame-pointer -g)
  if(WH_SANITIZE MATCHES "undefined")
    list(APPEND _wh_san_flags -fno-sanitize-recover=undefined)
  endif()
  add_compile_options(${_wh_san_flags})
  add_link_options(-fsanitize=${WH_SANITIZE})
endif()
