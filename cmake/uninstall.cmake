# Removes the files that the last `cmake --install` of this build directory wrote, as listed in
# its install_manifest.txt (run by `cmake --build build --target uninstall`). The manifest does
# not hold DESTDIR: give the same DESTDIR to uninstall as to the install.
if(NOT EXISTS "${MANIFEST}")
  message(FATAL_ERROR "Nothing to uninstall: ${MANIFEST} does not exist (run cmake --install first)")
endif()
file(STRINGS "${MANIFEST}" installed_files)
foreach(listed IN LISTS installed_files)
  set(installed "$ENV{DESTDIR}${listed}")
  if(EXISTS "${installed}" OR IS_SYMLINK "${installed}")
    message(STATUS "Removing ${installed}")
    file(REMOVE "${installed}")
    if(EXISTS "${installed}")
      message(FATAL_ERROR "Could not remove ${installed}")
    endif()
  else()
    message(STATUS "Not installed: ${installed}")
  endif()
endforeach()
