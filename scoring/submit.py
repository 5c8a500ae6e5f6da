"""The file to give spark-submit (which runs a script, not a module): ship the package with --py-files."""

from scoring.spark_job import main

if __name__ == "__main__":
    raise SystemExit(main())
