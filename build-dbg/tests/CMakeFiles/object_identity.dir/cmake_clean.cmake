file(REMOVE_RECURSE
  "CMakeFiles/object_identity.dir/vm/object_identity.c.o"
  "CMakeFiles/object_identity.dir/vm/object_identity.c.o.d"
  "object_identity"
  "object_identity.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/object_identity.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
