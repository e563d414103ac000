set terminal svg size 900,1380 dynamic enhanced font 'Helvetica,13'
set output "accuracy_vs_bits.svg"
set multiplot layout 3,1 title "Baselines: fp32, BNN, XNOR, DoReFa, TWN, LSQ, PACT"
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 18 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 19 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 20 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 21 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 22 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 23 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
unset multiplot
set terminal pngcairo size 900,1380 enhanced font 'Helvetica,11'
set output "accuracy_vs_bits.png"
set multiplot layout 3,1 title "Baselines: fp32, BNN, XNOR, DoReFa, TWN, LSQ, PACT"
set title "LeNet-5 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 6 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 7 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
set title "LeNet-5 MNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 8 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 9 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 10 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 11 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 12 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 13 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 14 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 15 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
set offsets 0.3, 0.3, 0, 0
set xtics ("W1A1" 0, "W1A2" 1, "WtA2" 2, "W2A2" 3, "W4A4" 4, "WtA32" 5, "fp32" 6)
plot "accuracy_vs_bits.dat" index 16 using 1:2:3 with yerrorlines lw 2 pt 7 lt 1 title "fp32", \
     "accuracy_vs_bits.dat" index 17 using 1:2:3 with yerrorlines lw 2 pt 7 lt 2 title "BNN", \
     "accuracy_vs_bits.dat" index 18 using 1:2:3 with yerrorlines lw 2 pt 7 lt 3 title "XNOR", \
     "accuracy_vs_bits.dat" index 19 using 1:2:3 with yerrorlines lw 2 pt 7 lt 4 title "DoReFa", \
     "accuracy_vs_bits.dat" index 20 using 1:2:3 with yerrorlines lw 2 pt 7 lt 5 title "TWN", \
     "accuracy_vs_bits.dat" index 21 using 1:2:3 with yerrorlines lw 2 pt 7 lt 6 title "LSQ", \
     "accuracy_vs_bits.dat" index 22 using 1:2:3 with yerrorlines lw 2 pt 7 lt 7 title "PACT", \
     "accuracy_vs_bits.dat" index 23 using 1:2:3 with yerrorlines lw 2 pt 7 lt 8 title "DoReFa (all layers)"
unset multiplot
unset output
