/*
 * errmsg.c: texts for SPOP status codes (haproxy doc/SPOE.txt §3.5).
 */
#include "spoe/spop.h"

const char *
spop_err_message(enum spop_err err)
{
	switch (err) {
	case SPOP_ERR_NONE:           return ("normal");
	case SPOP_ERR_IO:             return ("I/O error");
	case SPOP_ERR_TOUT:           return ("a timeout occurred");
	case SPOP_ERR_TOO_BIG:        return ("frame is too big");
	case SPOP_ERR_INVALID:        return ("invalid frame received");
	case SPOP_ERR_NO_VSN:         return ("version value not found");
	case SPOP_ERR_NO_FRAME_SIZE:  return ("max-frame-size value not found");
	case SPOP_ERR_NO_CAP:         return ("capabilities value not found");
	case SPOP_ERR_BAD_VSN:        return ("unsupported version");
	case SPOP_ERR_BAD_FRAME_SIZE: return ("max-frame-size too big or too small");
	case SPOP_ERR_FRAG_NOT_SUP:   return ("payload fragmentation is not supported");
	case SPOP_ERR_INTERLACED:     return ("invalid interlaced frames");
	case SPOP_ERR_FRAMEID_NOTFND: return ("frame-id not found");
	case SPOP_ERR_RES:            return ("resource allocation error");
	case SPOP_ERR_UNKNOWN:        break;
	}
	return ("an unknown error occurred");
}
