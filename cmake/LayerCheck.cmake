# Layers (README "Layout of the code") use only those above them. A link that breaks that is
# easy to add and silent until someone notices libunwind in a renderer's test, so it fails the
# configuration instead.
#
# gilscope_forbid_links(<target> <forbidden>...): fails (FATAL_ERROR) when <target> reaches any
# <forbidden> target through its link libraries, directly or through other targets', naming
# the path. Checked once the whole project has been read, so links added after the call count.
function(gilscope_forbid_links target)
  # EVAL: the deferred call's arguments are expanded when it runs; this captures them now.
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL _gilscope_check_links [[${target}]] ${ARGN})")
endfunction()

# The real name of a target named through an ALIAS (absl::status -> absl_status).
function(_gilscope_real_name name out)
  set(real "${name}")
  if(TARGET "${name}")
    get_target_property(aliased "${name}" ALIASED_TARGET)
    if(aliased)
      set(real "${aliased}")
    endif()
  endif()
  set(${out} "${real}" PARENT_SCOPE)
endfunction()

function(_gilscope_check_links target)
  set(forbidden "")
  foreach(name IN LISTS ARGN)
    _gilscope_real_name("${name}" real)
    list(APPEND forbidden "${real}")
  endforeach()
  _gilscope_real_name("${target}" start)
  set(queue "${start}")
  set(seen "")
  set("via_${start}" "${start}")
  while(queue)
    list(POP_FRONT queue current)
    if(current IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${current}")
    # LINK_LIBRARIES: what the target itself links; INTERFACE_LINK_LIBRARIES: what it passes
    # on (a static library's private links appear there as $<LINK_ONLY:...>).
    set(links "")
    foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
      get_target_property(items "${current}" ${property})
      if(items)
        list(APPEND links ${items})
      endif()
    endforeach()
    foreach(item IN LISTS links)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
      # Other generator expressions and directory markers (::@...) name no target here.
      if(item MATCHES "^\\$<" OR item MATCHES "^::@" OR NOT TARGET "${item}")
        continue()
      endif()
      _gilscope_real_name("${item}" real)
      if(NOT DEFINED "via_${real}")
        set("via_${real}" "${via_${current}} -> ${item}")
      endif()
      if(real IN_LIST forbidden)
        message(FATAL_ERROR "${target} must not link ${item} (layers: README \"Layout of the "
                            "code\"); it does through: ${via_${current}} -> ${item}")
      endif()
      list(APPEND queue "${real}")
    endforeach()
  endwhile()
endfunction()
