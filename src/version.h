#pragma once
#define CNN_MNIST_VERSION "0.1.0"
