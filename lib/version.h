/* version.h - the one place the project's version is written. */
#ifndef REFMTA_VERSION_H
#define REFMTA_VERSION_H
#define REFMTA_VERSION "0.1.0"
#endif
