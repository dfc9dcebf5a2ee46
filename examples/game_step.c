/* examples/game_step.c - an LSTM stepped once per frame, as a game would.

   The network is created once (here with random weights; a real game
   loads a trained one), a state is made for one sequence, and each frame
   feeds one input vector and reads the hidden state: no allocation after
   set-up. Build: cc -O2 $(pkg-config --cflags stb) game_step.c -lm */
#define RNN_IMPLEMENTATION
#define STB_DS_IMPLEMENTATION
#include "../rnn.h"

#include <math.h>
#include <stdio.h>

int main(void) {
    rnn_recurrent_config cfg = {0};
    rnn_recurrent *net;
    rnn_recurrent_state *state;
    float input[4], out[16];
    int frame;

    cfg.cell = RNN_LSTM;
    cfg.input_size = 4;        /* e.g. player x, y, speed, health */
    cfg.hidden_size = 16;
    cfg.num_layers = 2;
    cfg.forget_bias_one = 1;
    if (rnn_recurrent_create(&net, &cfg, 42) != RNN_OK) return 1;
    if (rnn_recurrent_state_create(net, 1, &state) != RNN_OK) return 1;

    for (frame = 0; frame < 120; frame++) {            /* the game loop */
        rnn_status st;
        input[0] = (float)sin(frame * 0.1);
        input[1] = (float)cos(frame * 0.1);
        input[2] = 1.0f;
        input[3] = 1.0f - frame / 120.0f;
        st = rnn_recurrent_step(net, state, input, out); /* no allocation */
        if (st != RNN_OK) { printf("step: %s\n", rnn_strerror(st)); return 1; }
        if (frame % 30 == 0) printf("frame %3d: h[0..3] = %+.4f %+.4f %+.4f %+.4f\n", frame, out[0], out[1], out[2], out[3]);
    }
    rnn_recurrent_state_free(state);
    rnn_recurrent_free(net);
    return 0;
}
