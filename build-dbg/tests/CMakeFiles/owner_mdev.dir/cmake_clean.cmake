file(REMOVE_RECURSE
  "CMakeFiles/owner_mdev.dir/vm/owner_mdev.c.o"
  "CMakeFiles/owner_mdev.dir/vm/owner_mdev.c.o.d"
  "owner_mdev"
  "owner_mdev.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/owner_mdev.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
