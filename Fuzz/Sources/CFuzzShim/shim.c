/* Empty: the header declares libFuzzer's driver; SwiftPM needs one source file per C target. */
#include "CFuzzShim.h"
