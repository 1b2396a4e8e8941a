# pl-bench's Rust parking_lot 0.12 contender (bench/parking_lot/, bench/adapt_parking_lot.c),
# included from bench/CMakeLists.txt with the other peers.
#
# The crate is a cdylib of extern "C" functions, so that pl-bench reaches parking_lot through one
# out-of-line call per operation into a shared library, as it reaches pthread, nsync and Abseil.
# It is built offline against the crate sources that Debian packages (librust-parking-lot-dev
# puts them in /usr/share/cargo/registry), never from the network: a CARGO_HOME in the build tree
# replaces crates.io by that directory.  Without cargo or those crates pl-bench is built without
# this peer and says so when it runs; the build never fails for their lack.

find_program(CARGO_EXECUTABLE cargo)
set(PARKING_LOT_CRATES "/usr/share/cargo/registry"
    CACHE PATH "Directory of Rust crate sources (Debian's) that pl-bench's parking_lot peer is built from")
file(GLOB pb_pl_crate LIST_DIRECTORIES true "${PARKING_LOT_CRATES}/parking_lot-0.12.*")
file(GLOB pb_pl_core_crate LIST_DIRECTORIES true "${PARKING_LOT_CRATES}/parking_lot_core-0.9.*")

# EXISTS as well: -DCARGO_EXECUTABLE=<path> skips the search, and a wrong path must skip the peer
# like a missing cargo, not fail the build.
if(CARGO_EXECUTABLE AND EXISTS "${CARGO_EXECUTABLE}" AND pb_pl_crate AND pb_pl_core_crate)
  message(STATUS "pl-bench: benchmarking against Rust parking_lot (${pb_pl_crate}, built with "
                 "${CARGO_EXECUTABLE})")
  set(pb_pl_dir "${CMAKE_CURRENT_BINARY_DIR}/parking_lot")
  # The crate is copied into the build tree and built there, so that the Cargo.lock that cargo
  # writes beside Cargo.toml (resolved from whatever versions the registry holds) stays out of
  # the sources.
  configure_file(parking_lot/Cargo.toml "${pb_pl_dir}/Cargo.toml" COPYONLY)
  configure_file(parking_lot/src/lib.rs "${pb_pl_dir}/src/lib.rs" COPYONLY)
  # Written only when it changes (file(CONFIGURE)): ${CARGO_HOME}/config.toml is the only cargo
  # configuration read besides the build tree's parents, and ~/.cargo is not read at all.
  file(CONFIGURE OUTPUT "${pb_pl_dir}/cargo-home/config.toml" CONTENT
"[source.crates-io]
replace-with = \"system\"

[source.system]
directory = \"${PARKING_LOT_CRATES}\"

[net]
offline = true
")
  # The rustc beside the cargo found, when there is one: a cargo from one toolchain with the
  # rustc of another (first on PATH) is a pairing nobody tests.
  get_filename_component(pb_cargo_bin "${CARGO_EXECUTABLE}" DIRECTORY)
  set(pb_rustc_env "")
  if(EXISTS "${pb_cargo_bin}/rustc")
    set(pb_rustc_env "RUSTC=${pb_cargo_bin}/rustc")
  endif()

  set(pb_pl_so "${pb_pl_dir}/target/release/libpb_parking_lot.so")
  add_custom_command(
    OUTPUT "${pb_pl_so}"
    COMMAND "${CMAKE_COMMAND}" -E env "CARGO_HOME=${pb_pl_dir}/cargo-home" ${pb_rustc_env}
            "${CARGO_EXECUTABLE}" rustc --lib --release --offline --quiet
            --manifest-path "${pb_pl_dir}/Cargo.toml" --target-dir "${pb_pl_dir}/target"
            -- -C link-arg=-Wl,-soname,libpb_parking_lot.so
    # cargo leaves the library's date alone when it finds nothing to rebuild.
    COMMAND "${CMAKE_COMMAND}" -E touch "${pb_pl_so}"
    DEPENDS "${pb_pl_dir}/Cargo.toml" "${pb_pl_dir}/src/lib.rs"
            "${pb_pl_dir}/cargo-home/config.toml"
    WORKING_DIRECTORY "${pb_pl_dir}"
    COMMENT "Building Rust parking_lot for pl-bench (cargo, offline)"
    VERBATIM)
  add_custom_target(pb_parking_lot_cargo DEPENDS "${pb_pl_so}")

  add_library(pb_parking_lot SHARED IMPORTED)
  # rustc gives a cdylib no SONAME, and the linker would then record the path it was given
  # (relative to the build directory) as the dependency, which fails from any other directory:
  # the rustc arguments above set one (cargo rustc passes them to this crate only), and pl-bench
  # finds it through the build RPATH that CMake gives executables linked to shared libraries in
  # the build tree.
  set_target_properties(pb_parking_lot PROPERTIES
    IMPORTED_LOCATION "${pb_pl_so}"
    IMPORTED_SONAME "libpb_parking_lot.so")
  add_dependencies(pl-bench pb_parking_lot_cargo)
  target_link_libraries(pl-bench PRIVATE pb_parking_lot)
  target_sources(pl-bench PRIVATE adapt_parking_lot.c)
  target_compile_definitions(pl-bench PRIVATE PB_HAVE_PARKING_LOT)
else()
  message(STATUS "pl-bench: cargo or the parking_lot 0.12 crate sources in ${PARKING_LOT_CRATES} "
                 "not found (Debian: cargo, librust-parking-lot-dev), skipping Rust parking_lot")
endif()
