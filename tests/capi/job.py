#!/usr/bin/env python3
"""A framework plugin's use of hac.h through ctypes: register this process as a job, report its
memory, end it. Driven by tests/integration/capi.bats.

usage: job.py LIBHAC_SO NAME MEMORY_MIB EXIT_STATUS
prints "JOB_ID DEVICE", waits for a line on stdin, ends the job and exits 0; on a failing call it
prints "CALL STATUS STRERROR: LAST_ERROR" and exits with STATUS.
"""
import ctypes
import sys


def load(path):
    lib = ctypes.CDLL(path)
    client_p = ctypes.c_void_p
    job_p = ctypes.c_void_p
    lib.hac_api_version.restype = ctypes.c_int
    lib.hac_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(client_p)]
    lib.hac_close.argtypes = [client_p]
    lib.hac_job_begin.argtypes = [client_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(job_p)]
    lib.hac_job_id.argtypes = [job_p]
    lib.hac_job_id.restype = ctypes.c_char_p
    lib.hac_job_device.argtypes = [job_p]
    lib.hac_job_report_memory.argtypes = [job_p, ctypes.c_int64]
    lib.hac_job_end.argtypes = [job_p, ctypes.c_int]
    lib.hac_job_free.argtypes = [job_p]
    lib.hac_last_error.restype = ctypes.c_char_p
    lib.hac_strerror.argtypes = [ctypes.c_int]
    lib.hac_strerror.restype = ctypes.c_char_p
    return lib


def main():
    path, name, memory, exit_status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    lib = load(path)

    def check(call, rc):
        if rc != 0:
            print(f"{call} {rc} {lib.hac_strerror(rc).decode()}: {lib.hac_last_error().decode()}")
            sys.exit(rc)

    if lib.hac_api_version() != 1:
        check("hac_api_version", 1)
    client = ctypes.c_void_p()
    check("hac_open", lib.hac_open(None, ctypes.byref(client)))
    job = ctypes.c_void_p()
    check("hac_job_begin", lib.hac_job_begin(client, -1, name.encode(), 0, ctypes.byref(job)))
    print(lib.hac_job_id(job).decode(), lib.hac_job_device(job), flush=True)
    check("hac_job_report_memory", lib.hac_job_report_memory(job, memory))
    sys.stdin.readline()
    check("hac_job_end", lib.hac_job_end(job, exit_status))
    lib.hac_job_free(job)
    lib.hac_close(client)


if __name__ == "__main__":
    main()
