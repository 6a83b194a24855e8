# Raw-protocol conformance tests (Engine.IO v4 / Socket.IO v5) against
# build/bin/sio-conformance-server: pytest over test_*.py in this directory,
# speaking HTTP and WebSocket over plain sockets (standard library + pytest).
# Included by tests/conformance/CMakeLists.txt.
add_test(NAME conformance.protocol
  COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(conformance.protocol PROPERTIES
  LABELS conformance
  TIMEOUT 600
  ENVIRONMENT "TB_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
