from setuptools import setup

setup(name="census-utils", version="1.1", py_modules=["census_utils"])
