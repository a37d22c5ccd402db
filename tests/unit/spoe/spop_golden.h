/*
 * spop_golden.h: the golden frames of spop.md §1.10/§1.12 and c-style.md §1
 * (length prefix included), in ts_hex() notation.  Shared by the spoe unit
 * tests; tests/fuzz/corpus/spop/ holds the same frames as binary files.
 */
#ifndef SPOP_GOLDEN_H
#define SPOP_GOLDEN_H

/* HAPROXY-HELLO from 2.x (spoa-mirror issue #12): 129-byte body. */
#define GOLDEN_HELLO_2X							\
	"00000081 01 00000001 00 00"					\
	" 12\"supported-versions\" 08 03\"2.0\""				\
	" 0e\"max-frame-size\" 03 fcf006"					\
	" 0c\"capabilities\" 08 10\"pipelining,async\""			\
	" 09\"engine-id\" 08 24\"c0f397ef-7909-40f6-a287-2e2f29cd5288\""

/* spop-check HELLO from 3.x (tcpcheck.c): 82 bytes. */
#define GOLDEN_HELLO_3X_CHECK						\
	"0000004e 01 00000001 00 00"					\
	" 12\"supported-versions\" 08 03\"2.0\""				\
	" 0e\"max-frame-size\" 03 fcf006"					\
	" 0c\"capabilities\" 08 00"						\
	" 0b\"healthcheck\" 11"

/* AGENT-HELLO: 68 bytes. */
#define GOLDEN_AGENT_HELLO						\
	"00000040 65 00000001 00 00"					\
	" 07\"version\" 08 03\"2.0\""					\
	" 0e\"max-frame-size\" 03 fcf006"					\
	" 0c\"capabilities\" 08 0a\"pipelining\""

/* AGENT-HELLO of reg-tests/checks/spop-check.vtc: 58 bytes, no caps. */
#define GOLDEN_AGENT_HELLO_VTC						\
	"00000036 65 00000001 0000 0776657273696F6E 0803322E30"		\
	" 0E6D61782D6672616D652D73697A65 03FCF0 060C6361706162696C6974696573" \
	" 0800"

/* NOTIFY: 52 bytes; sid 300, fid 1; message check-id with 3 args. */
#define GOLDEN_NOTIFY							\
	"00000030 03 00000001 fc03 01"					\
	" 08\"check-id\" 03"						\
	" 02\"ip\" 06 c000020a"						\
	" 03\"tls\" 11"							\
	" 04\"auth\" 08 0a\"Bearer abc\""

/* ACK for that NOTIFY: 55 bytes. */
#define GOLDEN_ACK							\
	"00000033 67 00000001 fc03 01"					\
	" 01 03 02 06\"jwt_ok\" 11"					\
	" 01 03 02 03\"sub\" 08 05\"alice\""				\
	" 01 03 02 04\"code\" 02 f10a"					\
	" 02 02 02 03\"err\""

/* AGENT-DISCONNECT: 41 bytes. */
#define GOLDEN_AGENT_DISCONNECT						\
	"00000025 66 00000001 00 00"					\
	" 0b\"status-code\" 03 00 07\"message\" 08 06\"normal\""

/* HAPROXY-DISCONNECT (spoa-mirror issue #17): 40-byte body. */
#define GOLDEN_HAPROXY_DISCONNECT					\
	"00000028 02 00000001 00 00"					\
	" 0b\"status-code\" 03 01 07\"message\" 08 09\"I/O error\""

/* The 7-byte empty ACK of spoa-mirror issue #17. */
#define GOLDEN_EMPTY_ACK	"00000007 67 00000001 02 01"

#endif
