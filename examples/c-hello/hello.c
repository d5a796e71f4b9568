/*
 * c-hello: a WAGI handler in C, built with clang and wasi-libc for wasm32-wasi (preview 1).
 *
 * The request arrives the CGI way (environment variables, the body on stdin); the response
 * is what the program prints: headers, a blank line, the body.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *name = getenv("X_PARAM_NAME");     /* the route's {name} */
    const char *method = getenv("REQUEST_METHOD");
    const char *query = getenv("QUERY_STRING");
    const char *length = getenv("CONTENT_LENGTH");
    long body_length = length ? strtol(length, NULL, 10) : 0;

    printf("content-type: text/plain; charset=utf-8\n");
    printf("x-handler: c-hello\n");
    printf("\n");
    printf("Hello from C, %s! (%s)\n", name ? name : "world", method ? method : "?");
    if (query && *query) {
        printf("query: %s\n", query);
    }
    if (body_length > 0) {
        char buffer[4096];
        size_t read, total = 0;
        printf("body: ");
        while ((read = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
            fwrite(buffer, 1, read, stdout);
            total += read;
        }
        printf("\n(%zu bytes)\n", total);
    }
    return 0;
}
