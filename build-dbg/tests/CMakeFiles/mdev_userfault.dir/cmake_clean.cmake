file(REMOVE_RECURSE
  "CMakeFiles/mdev_userfault.dir/vm/mdev_userfault.c.o"
  "CMakeFiles/mdev_userfault.dir/vm/mdev_userfault.c.o.d"
  "mdev_userfault"
  "mdev_userfault.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mdev_userfault.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
