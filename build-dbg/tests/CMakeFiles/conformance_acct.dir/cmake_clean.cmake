file(REMOVE_RECURSE
  "CMakeFiles/conformance_acct.dir/vm/conformance_acct.c.o"
  "CMakeFiles/conformance_acct.dir/vm/conformance_acct.c.o.d"
  "conformance_acct"
  "conformance_acct.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_acct.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
