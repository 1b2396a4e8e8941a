/* Parks N times (argument; default 100) on one address with a deadline already past: each park
 * queues, times out at once and returns, so the probes park_begin and park_end fire exactly N
 * times each, with no other thread (tests/probes/attach.sh counts them). */
#include <parking/lot.h>

#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    static char key;
    for (int i = 0; i < n; i++) {
        if (pl_park(&key, NULL, NULL, NULL, NULL, PL_DEFAULT_PARK_TOKEN, 0).status !=
            PL_PARK_TIMED_OUT)
            return 1;
    }
    return 0;
}
