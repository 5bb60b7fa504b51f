# Debian package (`cmake --build build --target package`): echotap.so in Wireshark's global plugin
# folder and the echotap profile in its global profiles, for the Wireshark series it was built
# against (a plugin loads only into the same X.Y); the user tools in /usr/share/echotap with their
# commands in /usr/bin; the changelog and copyright that Debian requires (lintian passes it).

# Its own component, left out of a plain `cmake --install`, which installs for the current user.
string(REGEX REPLACE "^/" "" ECHOTAP_GLOBAL_PLUGIN_DIR "${Wireshark_PLUGIN_INSTALL_DIR}")
install(TARGETS echotap LIBRARY DESTINATION "${ECHOTAP_GLOBAL_PLUGIN_DIR}/epan"
        COMPONENT debian EXCLUDE_FROM_ALL NAMELINK_SKIP)
# The "echotap" profile goes into Wireshark's global profiles folder.
string(REGEX REPLACE "^/" "" ECHOTAP_GLOBAL_DATA_DIR "${Wireshark_INSTALL_PREFIX}/share/wireshark")
install(DIRECTORY plugin/profile/ DESTINATION "${ECHOTAP_GLOBAL_DATA_DIR}/profiles/echotap"
        COMPONENT debian EXCLUDE_FROM_ALL)

# The tools and the tools/lib files they use, laid out as in the source tree (they find lib/ beside
# themselves); the commands are relative links, as Debian wants within /usr.
install(PROGRAMS tools/echotap-corpus tools/echotap-summary tools/plot DESTINATION usr/share/echotap
        COMPONENT debian EXCLUDE_FROM_ALL)
install(PROGRAMS tools/lib/tshark-with-plugin DESTINATION usr/share/echotap/lib COMPONENT debian EXCLUDE_FROM_ALL)
install(FILES tools/lib/echotap_tshark.py DESTINATION usr/share/echotap/lib COMPONENT debian EXCLUDE_FROM_ALL)
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/package-bin")
foreach(tool IN ITEMS echotap-corpus echotap-summary plot)
  string(REGEX REPLACE "^plot$" "echotap-plot" command "${tool}")
  file(CREATE_LINK "../share/echotap/${tool}" "${CMAKE_BINARY_DIR}/package-bin/${command}" SYMBOLIC)
  install(FILES "${CMAKE_BINARY_DIR}/package-bin/${command}" DESTINATION usr/bin COMPONENT debian EXCLUDE_FROM_ALL)
endforeach()

# A native package (no Debian revision): its changelog is changelog.gz, compressed as Debian wants
# (gzip -9n: no name or time stamp). The changelog is written by hand: its entry must name this version.
file(STRINGS packaging/changelog changelog_top LIMIT_COUNT 1)
if(NOT changelog_top MATCHES "^echotap \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog starts with \"${changelog_top}\": add an entry for ${PROJECT_VERSION}")
endif()
add_custom_command(OUTPUT changelog.gz
                   COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/packaging/changelog changelog
                   COMMAND gzip -9nf changelog
                   DEPENDS packaging/changelog VERBATIM)
add_custom_target(echotap_changelog ALL DEPENDS changelog.gz)
install(FILES "${CMAKE_BINARY_DIR}/changelog.gz" packaging/copyright DESTINATION usr/share/doc/echotap
        COMPONENT debian EXCLUDE_FROM_ALL)

# The package that holds the libwireshark we link to (libwireshark16 for 4.0); by Debian's
# library package naming (name + SONAME version) where dpkg does not know the file.
get_target_property(epan_library epan LOCATION)
get_filename_component(epan_library "${epan_library}" REALPATH)
execute_process(COMMAND dpkg-query -S "${epan_library}"
                OUTPUT_VARIABLE epan_owner RESULT_VARIABLE epan_owner_failed ERROR_QUIET)
if(NOT epan_owner_failed AND epan_owner MATCHES "^([a-z0-9.+-]+)(:[a-z0-9]+)?: ")
  set(ECHOTAP_LIBWIRESHARK_PACKAGE "${CMAKE_MATCH_1}")
else()
  get_target_property(epan_soname epan IMPORTED_SONAME_NONE)
  if(NOT epan_soname MATCHES "^libwireshark\\.so\\.([0-9]+)$")
    message(FATAL_ERROR "Cannot tell which package provides ${epan_library}")
  endif()
  set(ECHOTAP_LIBWIRESHARK_PACKAGE "libwireshark${CMAKE_MATCH_1}")
endif()
math(EXPR wireshark_next_minor "${Wireshark_MINOR_VERSION} + 1")
set(wireshark_series "${Wireshark_MAJOR_VERSION}.${Wireshark_MINOR_VERSION}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME echotap)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
# The project has no mail address: .invalid (RFC 6761) says so and passes lintian, which rejects
# hosts such as localhost. A distributor sets a real one.
set(ECHOTAP_PACKAGE_MAINTAINER "The echotap developers <maintainers@echotap.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${ECHOTAP_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Wireshark plugin: smart-speaker flow tagging and bytes per experiment phase")
# Lines of at most 80 characters (Debian policy 5.6.13).
set(CPACK_PACKAGE_DESCRIPTION "echotap tags every flow of an Amazon Echo with the cloud service it talks to
(TLS SNI, certificate, HTTP Host, DNS) and reports bytes per experiment phase,
device, service and direction in tshark -z and Wireshark's Statistics menu.
Commands: echotap-corpus (many captures into one SQLite database),
echotap-summary (a capture's answer on one screen), echotap-plot (a graph).
Built for Wireshark ${wireshark_series}.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/")
set(CPACK_COMPONENTS_ALL debian)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_LICENSE "GPL-2.0-or-later")
# dpkg-shlibdeps (dpkg-dev) adds what echotap.so links to (libc6, GLib, libwireshark).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "${ECHOTAP_LIBWIRESHARK_PACKAGE} (>= ${wireshark_series}), ${ECHOTAP_LIBWIRESHARK_PACKAGE} (<< ${Wireshark_MAJOR_VERSION}.${wireshark_next_minor}), python3")
# The tools run tshark; echotap-plot and echotap-corpus's graph need gnuplot.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "tshark, gnuplot-nox | gnuplot")
include(CPack)
