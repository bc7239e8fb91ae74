
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/tests/lib/child.c" "tests/CMakeFiles/testlib.dir/lib/child.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/child.c.o.d"
  "/work/main/tests/lib/common.c" "tests/CMakeFiles/testlib.dir/lib/common.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/common.c.o.d"
  "/work/main/tests/lib/dirty.c" "tests/CMakeFiles/testlib.dir/lib/dirty.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/dirty.c.o.d"
  "/work/main/tests/lib/edu.c" "tests/CMakeFiles/testlib.dir/lib/edu.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/edu.c.o.d"
  "/work/main/tests/lib/mdev_util.c" "tests/CMakeFiles/testlib.dir/lib/mdev_util.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/mdev_util.c.o.d"
  "/work/main/tests/lib/reexec.c" "tests/CMakeFiles/testlib.dir/lib/reexec.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/reexec.c.o.d"
  "/work/main/tests/lib/userfault.c" "tests/CMakeFiles/testlib.dir/lib/userfault.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/userfault.c.o.d"
  "/work/main/tests/lib/vfio_util.c" "tests/CMakeFiles/testlib.dir/lib/vfio_util.c.o" "gcc" "tests/CMakeFiles/testlib.dir/lib/vfio_util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
