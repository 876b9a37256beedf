# The layers of the tree, enforced by the compiler.
#
# Every header is included by its path from the repository root
# ("actors/raylet/raylet.h"), but no target sees the whole root: a target sees
# the folders it exposes and those of the targets it links, through a
# directory of symlinks under <build>/layers/<target>. An include that goes
# the wrong way (storage/ reaching into actors/, one actor into another's
# internals) names a file that is not there, and the build fails.
#
# Layers that must stay plain C++ (storage, the node's cores) also see a
# poisoned copy of CAF's headers first: including any of them is an #error.

# ray_expose(<target> <PUBLIC|PRIVATE> <folder>...): makes each folder
# (relative to the repository root) includable by <target>, and with PUBLIC
# by whatever links it.
function(ray_expose target scope)
  set(root ${CMAKE_BINARY_DIR}/layers/${target})
  foreach(folder ${ARGN})
    get_filename_component(parent ${root}/${folder} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    if(NOT EXISTS ${root}/${folder})
      file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${root}>)
endfunction()

# The poisoned CAF headers, one per real one (CAF_INCLUDE_DIR/caf/**.hpp).
set(RAY_NO_CAF_DIR ${CMAKE_BINARY_DIR}/layers/no_caf)
if(NOT EXISTS ${RAY_NO_CAF_DIR}/stamp)
  file(GLOB_RECURSE _caf_headers RELATIVE ${CAF_INCLUDE_DIR} ${CAF_INCLUDE_DIR}/caf/*.hpp)
  foreach(header ${_caf_headers})
    file(WRITE ${RAY_NO_CAF_DIR}/${header}
      "#error \"this layer is plain C++ and must not include CAF (<${header}>); see cmake/RayLayers.cmake\"\n")
  endforeach()
  file(WRITE ${RAY_NO_CAF_DIR}/stamp "")
endif()

# ray_forbid_caf(<target>): any CAF include in <target>'s sources is an error.
function(ray_forbid_caf target)
  target_include_directories(${target} BEFORE PRIVATE ${RAY_NO_CAF_DIR})
endfunction()
