# Warnings and sanitizers for every target in the tree (system headers are exempt by the compiler).
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                    -Woverloaded-virtual -Wimplicit-fallthrough)
if(SG_WERROR)
  add_compile_options(-Werror)
endif()

if(SG_SANITIZE)
  # -fno-sanitize-recover makes every UBSan finding abort, so a test run fails on any report.
  # The vptr check is off: it probes memory with pipe(), so it misfires when a test exhausts descriptors on
  # purpose (accept-loop back-off), and on objects created inside uninstrumented shared libraries (spdlog).
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

if(SG_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
