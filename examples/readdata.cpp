/*
 * readdata: Microsoft's WinHttpReadData example, ported to Linux.
 *
 * The sample is the code fragment in the "Examples" section of
 *   https://learn.microsoft.com/en-us/windows/win32/api/winhttp/nf-winhttp-winhttpreaddata
 * (Copyright Microsoft Corporation). It downloads a page over HTTPS with
 * WinHttpOpen, WinHttpConnect, WinHttpOpenRequest, WinHttpSendRequest and
 * WinHttpReceiveResponse, then prints it with a WinHttpQueryDataAvailable /
 * WinHttpReadData loop. Here it sits in wmain, as a Windows console program
 * would hold it, with two kinds of change, each marked where it is made and
 * walked through in docs/PORTING.md:
 *   ARGV  the server, port, path and scheme come from the command line instead
 *         of www.microsoft.com, so that tests can point it at a local server
 *         (a Windows build would make the same change);
 *   PORT  what Linux needs.
 * Everything else is Microsoft's text, unchanged but for trailing blanks.
 *
 * Usage: readdata [SERVER [PORT [PATH [http]]]]
 *   Without arguments it does what the original does: GET / from
 *   www.microsoft.com over HTTPS. "http" as the fourth argument drops
 *   WINHTTP_FLAG_SECURE. The body goes to stdout, errors too (as in the
 *   original); the exit status is 1 when the request failed.
 */

// PORT: no <windows.h> (OpenWinHTTP does not ship one). winhttp.h itself
// defines the Win32 types (DWORD, BOOL, LPSTR, ...) and GetLastError; the
// one other windows.h piece the sample uses, ZeroMemory, is defined below.
// <WinHttp.h> is installed next to <winhttp.h> for code spelled this way.
#include <WinHttp.h>
#include <stdio.h>
#include <stdlib.h> // ARGV: wcstoul
#include <string.h> // PORT: memset, for ZeroMemory
#include <locale.h> // PORT: setlocale, for the wmain shim
#include <wchar.h>

// PORT: ZeroMemory is a windows.h macro for memset.
#define ZeroMemory(Destination, Length) memset((Destination), 0, (Length))

int wmain(int argc, wchar_t *argv[])
{
    // ARGV: what the original hard-codes, unless given.
    LPCWSTR pswzServerName = argc > 1 ? argv[1] : L"www.microsoft.com";
    INTERNET_PORT nServerPort = argc > 2 ? (INTERNET_PORT)wcstoul(argv[2], NULL, 10)
                                         : INTERNET_DEFAULT_HTTPS_PORT;
    LPCWSTR pwszObjectName = argc > 3 ? argv[3] : NULL;
    DWORD dwFlags = (argc > 4 && wcscmp(argv[4], L"http") == 0) ? 0 : WINHTTP_FLAG_SECURE;

    DWORD dwSize = 0;
    DWORD dwDownloaded = 0;
    LPSTR pszOutBuffer;
    BOOL  bResults = FALSE;
    HINTERNET  hSession = NULL,
               hConnect = NULL,
               hRequest = NULL;

    // Use WinHttpOpen to obtain a session handle.
    hSession = WinHttpOpen( L"WinHTTP Example/1.0",
                            WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
                            WINHTTP_NO_PROXY_NAME,
                            WINHTTP_NO_PROXY_BYPASS, 0);

    // Specify an HTTP server.
    if (hSession)
        hConnect = WinHttpConnect( hSession, pswzServerName,   // ARGV
                                   nServerPort, 0);            // ARGV

    // Create an HTTP request handle.
    if (hConnect)
        hRequest = WinHttpOpenRequest( hConnect, L"GET", pwszObjectName, // ARGV
                                       NULL, WINHTTP_NO_REFERER,
                                       WINHTTP_DEFAULT_ACCEPT_TYPES,
                                       dwFlags);                         // ARGV

    // Send a request.
    if (hRequest)
        bResults = WinHttpSendRequest( hRequest,
                                       WINHTTP_NO_ADDITIONAL_HEADERS,
                                       0, WINHTTP_NO_REQUEST_DATA, 0,
                                       0, 0);


    // End the request.
    if (bResults)
        bResults = WinHttpReceiveResponse( hRequest, NULL);

    // Keep checking for data until there is nothing left.
    if (bResults)
    {
        do
        {
            // Check for available data.
            dwSize = 0;
            if (!WinHttpQueryDataAvailable( hRequest, &dwSize))
            {
                printf( "Error %u in WinHttpQueryDataAvailable.\n",
                        GetLastError());
                break;
            }

            // No more available data.
            if (!dwSize)
                break;

            // Allocate space for the buffer.
            pszOutBuffer = new char[dwSize+1];
            if (!pszOutBuffer)
            {
                printf("Out of memory\n");
                break;
            }

            // Read the Data.
            ZeroMemory(pszOutBuffer, dwSize+1);

            if (!WinHttpReadData( hRequest, (LPVOID)pszOutBuffer,
                                  dwSize, &dwDownloaded))
            {
                printf( "Error %u in WinHttpReadData.\n", GetLastError());
            }
            else
            {
                printf("%s", pszOutBuffer);
            }

            // Free the memory allocated to the buffer.
            delete [] pszOutBuffer;

            // This condition should never be reached since WinHttpQueryDataAvailable
            // reported that there are bits to read.
            if (!dwDownloaded)
                break;

        } while (dwSize > 0);
    }
    else
    {
        // Report any errors.
        printf( "Error %d has occurred.\n", GetLastError() );
    }

    // Close any open handles.
    if (hRequest) WinHttpCloseHandle(hRequest);
    if (hConnect) WinHttpCloseHandle(hConnect);
    if (hSession) WinHttpCloseHandle(hSession);

    // ARGV: an exit status scripts can test.
    return bResults ? 0 : 1;
}

// PORT: Linux starts a program at main, with its arguments as bytes in the
// locale's encoding (UTF-8 on Debian), and has no wmain. This main converts
// them to wide strings and calls wmain. setlocale(LC_CTYPE, "") makes
// mbstowcs decode the user's encoding; without it only ASCII converts.
int main(int argc, char *argv[])
{
    setlocale(LC_CTYPE, "");
    wchar_t **wargv = new wchar_t *[argc + 1](); // argv[argc] is NULL there too
    int status = 2;
    int i;
    for (i = 0; i < argc; i++) {
        size_t n = mbstowcs(NULL, argv[i], 0);
        if (n == (size_t)-1) {
            fprintf(stderr, "readdata: argument %d is not valid text in this locale\n", i);
            break;
        }
        wargv[i] = new wchar_t[n + 1];
        mbstowcs(wargv[i], argv[i], n + 1);
    }
    if (i == argc)
        status = wmain(argc, wargv);
    for (i = 0; i < argc; i++)
        delete [] wargv[i];
    delete [] wargv;
    return status;
}
